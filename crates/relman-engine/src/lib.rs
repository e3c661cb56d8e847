//! relman engine (being written).
pub mod pgzip;
