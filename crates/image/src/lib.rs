//! Trusted disk image assembly: root filesystem, dm-verity partitions, UKI on an ESP, reference values.
