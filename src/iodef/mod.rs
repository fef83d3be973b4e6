//! IODEF v2 (RFC 7970) documents and their RFC 8727 JSON form.
