//! AMD SEV, SEV-ES and SEV-SNP launch measurement (trust path 1): OVMF metadata, VMSA, launch digest, ID blocks.
