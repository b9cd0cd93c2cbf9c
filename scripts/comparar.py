"""Orquesta la comparación con PyTorch (lo llama scripts/comparar_pytorch.sh)."""
import argparse
import os
import statistics
import subprocess
import sys
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from comun import cpu_model, es, instructions  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--rondas", type=int, default=3)
parser.add_argument("--cuaderno", action="store_true")
parser.add_argument("--libro", action="store_true")
parser.add_argument("--solo-generacion", action="store_true")
args = parser.parse_args()

PY = os.environ["PYTHON_TORCH"]
# Cómo se escribe en las tablas el nombre de una configuración (las claves van sin eñe).
SHOWN = {"pequena": "pequeña"}
GPT_CONFIGS = [("pequena", 30), ("cpu", 20), ("mediana", 5)] + ([("cuaderno", 2)] if args.cuaderno else [])


def run(cmd, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines() if line.strip()]


def machine():
    cpu = cpu_model()
    torch_v = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
    return f"{cpu}, {os.cpu_count()} núcleos, {instructions()}; PyTorch `{torch_v}`; {date.today().isoformat()}"


# Bigram: 1 hilo, varias rondas alternadas.
bigram = {}
for r in range(0 if args.solo_generacion else args.rondas):
    print(f"bigram: ronda {r + 1} de {args.rondas}", file=sys.stderr)
    for row in run([os.environ["BENCH_BIGRAM"]], 1) + run([PY, "scripts/bigram_pytorch.py", "--hilos", "1"], 1):
        bigram.setdefault(row[1], []).append(float(row[2]))

# GPT: cada configuración con 1 y 2 hilos, alternando la implementación rápida, la ruta del
# libro y PyTorch. El banco da también los GFLOP/s del modelo (con la fórmula de los FLOPs de
# un paso escrita en benches/gpt.rs): de ahí salen los FLOPs de un paso para PyTorch.
gpt = {}
flops = {}
for r in range(0 if args.solo_generacion else args.rondas):
    for name, steps in GPT_CONFIGS:
        for threads in (1, 2):
            print(f"gpt {name}: ronda {r + 1}, {threads} hilo(s)", file=sys.stderr)
            rows = run([os.environ["BENCH_GPT"], name, str(steps), "rapida"], threads)
            # La ruta del libro es más lenta: menos pasos (al menos 2, para la mediana).
            rows += run([os.environ["BENCH_GPT"], name, str(max(2, steps // 4)), "libro"], threads)
            rows += run([PY, "scripts/gpt_pytorch.py", "--config", name, "--hilos", str(threads), "--pasos", str(steps)], threads)
            for row in rows:
                ms, mib = float(row[4]), float(row[6])
                gpt.setdefault((name, row[2], threads), []).append((ms, mib))
                if row[2] == "rust":
                    flops[name] = float(row[7]) * 1e6 * ms
# Generación (preset cpu, 1 hilo): el bucle del cuaderno frente a la caché KV, y la cota de
# cualquier método exacto con la ventana llena.
print("generación", file=sys.stderr)
gen = run([os.environ["BENCH_GEN"], "64", "500", "--repeticiones", str(max(3, args.rondas))], 1)
gen_torch = {}
for threads in (1, 2):
    cmd = [PY, "scripts/gpt_pytorch.py", "--config", "cpu", "--hilos", str(threads), "--generar", "64", "500"]
    for row in run(cmd, threads):
        gen_torch[row[1]] = max(gen_torch.get(row[1], 0.0), float(row[2]))

header = f"Máquina: {machine()}.\n"
t3 = [header,
      "| caracteres | PyTorch, bucle del cuaderno | este proyecto, bucle del cuaderno | este proyecto, caché KV | caché / PyTorch | caché / bucle | cota exacta | cota / bucle |",
      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
cotas = {row[1]: row for row in gen if row[0] == "cota"}
for row in gen:
    if row[0] == "generacion":
        n, plain, cached, ratio = row[1], float(row[2]), float(row[3]), float(row[4])
        torch_rate = gen_torch[n]
        bound = f"{es(float(cotas[n][2]))} | {es(float(cotas[n][3]), 2)}×" if n in cotas else "– | –"
        t3.append(f"| {n} | {es(torch_rate)} | {es(plain)} | {es(cached)} | {es(cached / torch_rate, 2)}× | {es(ratio, 2)}× | {bound} |")
tables = {"generacion_velocidad.md": t3}

if not args.solo_generacion:
    t1 = [header, "", "| motor | ms/paso (mediana) | pasos/s | PyTorch / este proyecto |", "| --- | ---: | ---: | ---: |"]
    ref = statistics.median(bigram["pytorch"])
    for engine in ["pytorch", "ndarray", "ndarray-ingenuo", "candle"]:
        if engine in bigram:
            ms = statistics.median(bigram[engine])
            t1.append(f"| {engine} | {es(ms, 4)} | {es(1000 / ms)} | {es(ref / ms, 2)}× |")
    # El techo de la máquina: un producto 1024×1024 f32 con gemm (el de candle), con 1 y 2 hilos.
    ceiling = {th: float(run([os.environ["BENCH_GPT"], "gemm"], th)[0][4]) for th in (1, 2)}
    t2 = [header,
          f"Techo (producto de matrices f32 de 1024×1024 con gemm): {es(ceiling[1], 1)} GFLOP/s con 1 hilo, "
          f"{es(ceiling[2], 1)} con 2. La columna «% del techo» es la parte de ese techo (con los mismos hilos) "
          "que alcanza el paso de este proyecto, con los FLOPs de un paso de benches/gpt.rs.", "",
          "| configuración | ms/paso (hilos), PyTorch | ms/paso (hilos), este proyecto | PyTorch / este proyecto | % del techo | ms/paso (hilos), ruta del libro | memoria, PyTorch | memoria, este proyecto |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, _ in GPT_CONFIGS:
        best = {}
        for impl in ("pytorch", "rust", "libro"):
            cands = [(statistics.median(ms for ms, _ in v), th, max(m for _, m in v)) for (n, i, th), v in gpt.items() if n == name and i == impl]
            best[impl] = min(cands)
        (pm, pt, pmem), (rm, rt, rmem), (lm, lt, _) = best["pytorch"], best["rust"], best["libro"]
        share = flops[name] / (rm * 1e6) / ceiling[rt] * 100
        t2.append(f"| {SHOWN.get(name, name)} | {es(pm, 1)} ({pt}) | {es(rm, 1)} ({rt}) | {es(pm / rm, 2)}× | {es(share, 0)} % | {es(lm, 1)} ({lt}) | {es(pmem)} MiB | {es(rmem)} MiB |")
    tables = {"bigram_velocidad.md": t1, "gpt_velocidad.md": t2, **tables}

print("\n\n".join("\n".join(t) for t in tables.values()))
if args.libro:
    os.makedirs("book/src/tablas", exist_ok=True)
    for name, table in tables.items():
        open(f"book/src/tablas/{name}", "w").write("\n".join(table) + "\n")
    print(f"\nEscritas en book/src/tablas/: {', '.join(tables)}", file=sys.stderr)
