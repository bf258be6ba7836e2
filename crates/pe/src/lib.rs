//! PE/COFF parsing, Authenticode hashing and Unified Kernel Image building (trust path 3).
