//! A throwaway PostgreSQL 15 for the store tests (`gridlink::lab::Postgres`:
//! `initdb` in a temp dir, a free 127.0.0.1 port, stopped on drop).

pub use gridlink::lab::Postgres;

/// Starts one, or fails naming `scripts/deps`.
pub fn postgres() -> Postgres {
    match Postgres::start() {
        Ok(pg) => pg,
        Err(e) => panic!("{e} (install the test dependencies with scripts/deps)"),
    }
}
