//! The reader's hard limits on input size and nesting (public: `gridlink::iodef::MAX_INPUT_BYTES`,
//! `MAX_DEPTH`).

/// Largest accepted input, in bytes.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Deepest accepted element nesting.
pub const MAX_DEPTH: usize = 256;
