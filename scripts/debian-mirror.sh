# Sourced by scripts/setup.sh and scripts/mkosi-image.sh: `debian_mirror` prints the URIs of this machine's apt
# sources for bookworm (deb822 .sources first, then one-line .list files), so that everything these scripts download
# comes from the mirror or proxy the machine already uses; no host is named in the scripts.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: the URIs of the first stanza whose Suites name bookworm.
    awk 'BEGIN{RS=""; FS="\n"} /(^|\n)Suites:[^\n]*[[:space:]]bookworm([[:space:]]|$)/ {
           for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, a, /[[:space:]]+/); print a[2]; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { u = ""; for (i = 2; i <= NF; i++) { if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; continue }
           if (u == "") u = $i; else { if ($i == "bookworm") print u; break } } }' "$f"
  done
}
