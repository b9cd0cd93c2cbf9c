#!/usr/bin/env bash
# Banco de la primera puesta en marcha: lo que tarda alguien que acaba de clonar el proyecto
# en ejecutar las dos órdenes del README, con la caché del registro de cargo ya llena (las
# descargas de crates no cuentan) y `target/` vacío.
#
#   bash scripts/primera_puesta.sh
#
# Clona el último commit en una carpeta temporal, le da una copia del corpus (para medir la
# compilación y no la red) y cronometra, una tras otra:
#   1. cargo run --bin 05_bigram
#   2. cargo test
# Al final dice cuántos crates compiló la segunda orden que la primera ya había compilado
# (deberían ser 0: las dos comparten el perfil y las dependencias compiladas).
set -euo pipefail
cd "$(dirname "$0")/.."

CORPUS="${GPT_DESDE_CERO_DATOS:-datos}/el_quijote.txt"
if [ ! -f "$CORPUS" ]; then
  echo "error: falta el corpus en «$CORPUS»; ejecuta antes cargo run --bin 01_datos" >&2
  exit 1
fi
DIR="$(mktemp -d)"
trap 'rm -rf "$DIR"' EXIT
git clone -q . "$DIR/clon"
mkdir -p "$DIR/clon/datos"
cp "$CORPUS" "$DIR/clon/datos/"
cd "$DIR/clon"
unset CARGO_TARGET_DIR
# Que cargo no necesite la red: las dependencias ya están en la caché del registro.
cargo fetch --locked -q

medir() {
  local log="$1"
  shift
  local start end
  start=$(date +%s.%N)
  "$@" >"$log" 2>&1 || {
    echo "error: «$*» falló; las últimas líneas:" >&2
    tail -20 "$log" >&2
    exit 1
  }
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.0f}')"
}

echo "== núcleos: $(nproc); $(cargo --version)"
t1=$(medir "$DIR/1.log" cargo run --bin 05_bigram)
echo "cargo run --bin 05_bigram: $t1 s"
t2=$(medir "$DIR/2.log" cargo test)
echo "cargo test:                $t2 s"
total=$((t1 + t2))
printf 'total: %d s (%d min %02d s)\n' "$total" $((total / 60)) $((total % 60))
grep -o 'Compiling [^ ]* v[^ ]*' "$DIR/1.log" | sort -u >"$DIR/1.crates"
grep -o 'Compiling [^ ]* v[^ ]*' "$DIR/2.log" | sort -u >"$DIR/2.crates"
again=$(comm -12 "$DIR/1.crates" "$DIR/2.crates" | grep -vc 'gpt-desde-cero' || true)
echo "crates compilados otra vez por cargo test: $again"
comm -12 "$DIR/1.crates" "$DIR/2.crates" | grep -v 'gpt-desde-cero' | sed 's/^/  /' || true
