//! A remote Atom feed page as the ROLIE poller reads it: entries, their
//! content links and the `next` link, resolved against `xml:base`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = gridlink::rolie::poll::fuzz_feed_page(text);
});
