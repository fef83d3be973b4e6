//! An AtomPub POST body as the collection reads it. The first byte picks
//! the Content-Type, the rest is the body.
#![no_main]

use libfuzzer_sys::fuzz_target;

const TYPES: &[&str] = &[
    "application/xml",
    "text/xml",
    "application/json",
    "application/atom+xml;type=entry",
    "application/atom+xml",
    "application/atom+xml; type=feed",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let ty = TYPES[usize::from(pick) % TYPES.len()];
    let _ = gridlink::rolie::fuzz_post_body(ty, body);
});
