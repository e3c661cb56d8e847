//! relman engine (being written).
