//! The contract every backend passes.
