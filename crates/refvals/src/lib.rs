//! Reference-value manifests tying the three trust paths together, and their export to Trustee RVPS and systemd-pcrlock.
