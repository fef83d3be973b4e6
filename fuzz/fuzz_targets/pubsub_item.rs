//! Pubsub notification items (`<item/>`, `<retract/>`) as a subscriber
//! receives them: payload extraction and the IODEF checks behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = gridlink::grid::fuzz_notification(text);
});
