//! Parallel gzip (being written).
