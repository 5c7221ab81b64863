#!/bin/sh
# Trunk's post_build hook (Trunk.toml): puts the page's models into the build, i.e.
# weights/models.json and the burnpack files (*.bpk) it lists. Nothing else in weights/
# ships: not downloads/ (the original .pth files), not a partial download (*.part) and
# not a conversion's temporary file (*.tmp).
#   TRUNK_STAGING_DIR=DIR sh www/stage-weights.sh [SOURCE]   (SOURCE: default weights)
set -eu
source_dir=${1:-weights}
dest=${TRUNK_STAGING_DIR:?TRUNK_STAGING_DIR is unset: Trunk runs this script}/weights
mkdir -p "$dest"
for file in "$source_dir"/models.json "$source_dir"/*.bpk; do
  [ -f "$file" ] || continue
  cp "$file" "$dest/"
done
