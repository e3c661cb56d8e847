//! Consumer side of relman (being written).
