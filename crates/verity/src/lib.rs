//! dm-verity (trust path 2): hash tree, root hash, superblock, FEC, root-hash signatures, kernel parameters, verification.
