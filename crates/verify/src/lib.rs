//! Relying-party checks: SEV-SNP reports, TPM quotes and Azure vTPM evidence against reference values.
