//! `gridlink iodef …` — validate, convert and summarise IODEF documents.
