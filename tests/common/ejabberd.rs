//! The lab ejabberd (design §4: the second broker). The one place where
//! tests start an ejabberd.

use gridlink::lab::{Ejabberd, EjabberdOptions, EjabberdStorage};

/// Starts a lab ejabberd with `opts`; one that cannot start (or is not
/// installed) fails the test with the reason.
pub fn start_ejabberd(opts: EjabberdOptions) -> Ejabberd {
    Ejabberd::start(opts).unwrap_or_else(|e| panic!("{e}"))
}

/// An ejabberd with `publisher` and `subscriber` on `storage`.
pub fn ejabberd(storage: EjabberdStorage) -> Ejabberd {
    start_ejabberd(EjabberdOptions {
        storage,
        ..Default::default()
    })
}
