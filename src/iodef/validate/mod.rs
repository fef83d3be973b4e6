//! Validation of a document tree against the errata-corrected RFC 7970 XSD (as the schema table
//! has it) and the RFC 7970 text rules; and the cheap basic check.
//!
//! * `strict.rs`: the strict walk ([`validate`]): attributes, IDs/IDREFs, text, content models;
//! * `rfc_rules.rs`: the RFC 7970 text rules the XSD cannot express, called by the walk per element;
//! * `xmldsig.rs`: the few xmldsig rules, for the opaque xmldsig elements the walk meets;
//! * `sci.rs`: RFC 7203's basic structure, for the opaque SCI elements (`sci:AttackPattern`, …);
//! * `model_match.rs` and `model_compiled.rs`: content-model matching (below);
//! * `basic.rs`: [`validate_basic`] (and the IODEF v1 root checks of [`v1_basic_problems`]);
//! * `problem.rs`: what a finding is ([`Problem`], [`RuleSource`]) and how its path is rendered.
//!
//! Imports run downwards only: `strict` → `rfc_rules`, `xmldsig`, `sci`, `model_compiled` → `model_match`
//! → (the arena and schema outside the folder); every checker → `problem`. This file only
//! re-exports, and nothing in the folder imports it.
//!
//! # The two content-model matchers
//!
//! `model_match.rs` is the content-model matcher: a recursive, greedy matcher over any particle
//! tree (the XSD obeys Unique Particle Attribution, so one child of look-ahead decides).
//! `model_compiled.rs` is the same algorithm specialised: every model that is a sequence (or one
//! choice) of element particles, element choices and wildcards — all but `IndicatorExpression`'s
//! repeated sequence — is laid out once per declaration as a flat list of steps and matched by one
//! loop, because the recursive matcher's calls, `Result`s and particle walk were a quarter of
//! validation. They are not two independent copies: the compiled steps are built at first use from
//! the same particles the recursive matcher walks, `model_compiled::match_model` hands every model
//! it cannot compile to `model_match::match_particle`, and both report failure as the same
//! `model_match::Fail` (position and particle), so messages come from one place. What is written
//! twice is the greedy loop itself; the test `compiled_models_match_as_the_matcher` runs both on
//! every sequence of up to five children drawn from each model's names and two strangers and
//! requires the same result, failure and (child, declaration) pairs. Dropping either would cost
//! speed (the recursive matcher everywhere) or make the one irregular model a special case of the
//! loop, so both stay, kept in step by that test: change one, run it.

mod basic;
mod model_compiled;
mod model_match;
mod problem;
mod rfc_rules;
mod sci;
mod strict;
mod xmldsig;

pub(crate) use basic::{v1_basic_problems, validate_basic};
pub use problem::{Problem, RuleSource};
pub(crate) use strict::validate;
