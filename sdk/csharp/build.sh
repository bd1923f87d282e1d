#!/usr/bin/env bash
# Builds the SDK, the Unity adapter (against test/UnityStub.cs) and the test program with mono's
# mcs, referencing the netstandard facade and the reference assemblies it forwards to.
#   sdk/csharp/build.sh OUT_DIR      then: mono OUT_DIR/GameMod.Tests.exe config.json
set -euo pipefail
cd "$(dirname "$0")"
out="${1:?usage: build.sh OUT_DIR}"
mkdir -p "$out"
api=/usr/lib/mono/4.7.2-api
for f in "$api/mscorlib.dll" "$api/Facades/netstandard.dll"; do
  [ -e "$f" ] || { echo "missing $f: apt-get install mono-devel" >&2; exit 2; }
done
command -v mcs >/dev/null || { echo "missing mcs: apt-get install mono-mcs" >&2; exit 2; }
refs=(-nostdlib -noconfig -langversion:7 -warnaserror
  "-r:$api/mscorlib.dll" "-r:$api/Facades/netstandard.dll" "-r:$api/System.dll"
  "-r:$api/System.Core.dll" "-r:$api/System.Net.Http.dll")
mcs -target:library "${refs[@]}" -out:"$out/GameMod.dll" src/*.cs
mcs -target:library "${refs[@]}" -out:"$out/UnityEngine.dll" test/UnityStub.cs
mcs -target:library "${refs[@]}" -r:"$out/GameMod.dll" -r:"$out/UnityEngine.dll" \
  -out:"$out/GameMod.Unity.dll" unity/*.cs
mcs -target:exe "${refs[@]}" -r:"$out/GameMod.dll" -r:"$out/UnityEngine.dll" -r:"$out/GameMod.Unity.dll" \
  -out:"$out/GameMod.Tests.exe" test/Tests.cs
# The examples compile too, so they keep matching the API.
mcs -target:exe "${refs[@]}" -r:"$out/GameMod.dll" -out:"$out/ConsoleExample.exe" examples/ConsoleExample.cs
mcs -target:library "${refs[@]}" -r:"$out/GameMod.dll" -r:"$out/UnityEngine.dll" -r:"$out/GameMod.Unity.dll" \
  -out:"$out/UnitySupport.dll" examples/UnitySupport.cs
