//! STIX 2.1 for the grid's incidents: IODEF v2 → STIX 2.1 objects ([`to_stix`]) and back for what
//! TAXII clients add ([`to_iodef`]). `docs/stix-mapping.md` is the mapping table.
//!
//! Files, each using only those listed before it: `ids` (UUIDv5 ids), `markings` (restriction ↔
//! TLP 2.0), `pattern` (STIX patterns written and read), `observables` (IODEF observables →
//! patterns), `to_stix` (documents → objects), `to_iodef` (objects → documents).

mod ids;
mod markings;
mod observables;
mod pattern;
mod to_iodef;
mod to_stix;

pub use ids::{is_uuid, stix_id, uuid_v5, NAMESPACE};
pub use markings::{marking_object, restriction_of_marking, tlp_of_restriction, Tlp, TLP2};
pub use pattern::{parse as parse_pattern, Comparison, Expr, Literal, Logic};
pub use to_iodef::{to_iodef, Outcome, MAX_OBJECTS};
pub use to_stix::{parse_time, timestamp, to_stix, Context, Converted};
