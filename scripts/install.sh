#!/usr/bin/env bash
# Installs modelsec under PREFIX: one self-contained binary (the Swift standard
# library and Foundation linked statically; only libssl and libsodium are needed
# at run time), shell completions for bash, zsh and fish, and a man page made
# from the command definitions.
#
#   scripts/install.sh PREFIX            (make install PREFIX=/usr/local)
#   CONFIG=debug scripts/install.sh ...  (a debug build: quicker, used by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:?usage: scripts/install.sh PREFIX}
config=${CONFIG:-release}
swift=${SWIFT:-swift}
# Its own build folder: objects compiled for a static runtime carry different
# link directives and must not mix with the ordinary build's.
# STATIC=0 installs the product of the normal debug/release build (.build,
# dynamic Swift runtime) instead: CI uses it to check the installed layout
# without compiling the whole package a second time.
static_runtime=${STATIC:-1}
if [ "$static_runtime" = 0 ]; then
  scratch=(--scratch-path "${SCRATCH:-.build}")
else
  scratch=(--scratch-path "${SCRATCH:-.build-install}")
fi

# Static Swift runtime and Foundation. On Linux, SwiftPM's --static-swift-stdlib
# links the Swift runtime but not the archives Foundation itself depends on
# (CoreFoundation, ICU, the C shims), so they are named here.
static=(--static-swift-stdlib)
for lib in _FoundationICU CoreFoundation _FoundationCShims FoundationEssentials \
           FoundationInternationalization _FoundationCollections stdc++; do
  static+=(-Xlinker "-l$lib")
done
# (The commit --version reports is recorded by the BuildCommit plugin whenever
# git's HEAD moves; nothing needs touching here.)
if [ "$static_runtime" = 0 ]; then
  static=()
  echo "modelsec: building ($config, dynamic Swift runtime)" >&2
else
  echo "modelsec: building ($config, static Swift runtime)" >&2
fi
"$swift" build "${scratch[@]}" -c "$config" --product modelsec "${static[@]}"
"$swift" build "${scratch[@]}" -c "$config" --product generate-manual "${static[@]}"
bin=$("$swift" build "${scratch[@]}" -c "$config" --show-bin-path)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/generate-manual" "$bin/modelsec" --output-directory "$work" >/dev/null
for shell in bash zsh fish; do
  "$bin/modelsec" --generate-completion-script "$shell" > "$work/completion.$shell"
done

install -D -m 0755 "$bin/modelsec" "$prefix/bin/modelsec"
install -D -m 0644 "$work/modelsec.1" "$prefix/share/man/man1/modelsec.1"
install -D -m 0644 "$work/completion.bash" "$prefix/share/bash-completion/completions/modelsec"
install -D -m 0644 "$work/completion.zsh" "$prefix/share/zsh/site-functions/_modelsec"
install -D -m 0644 "$work/completion.fish" "$prefix/share/fish/vendor_completions.d/modelsec.fish"
echo "modelsec: installed $("$prefix/bin/modelsec" --version) under $prefix" >&2
