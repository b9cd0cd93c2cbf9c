"""El GPT del cuaderno en PyTorch, para comparar velocidad y memoria con la versión en Rust.

    python scripts/gpt_pytorch.py --config cpu --hilos 1 --pasos 20

Mide milisegundos por paso de entrenamiento (get_batch + forward + backward + AdamW) y la
memoria máxima del proceso. Imprime una línea:
`gpt <config> pytorch <hilos> <mediana ms/paso> <tokens/s> <pico MiB>`.
Con --entrenar N, entrena N pasos y da las estimaciones de pérdida (200 lotes por parte).
Con --generar N [N…], mide los caracteres por segundo del bucle de generación del cuaderno
(pesos aleatorios, sin gradientes) e imprime `generacion-pytorch <caracteres> <car/s>`.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
from torch.nn import functional as F

# lote, bloque, n_embd, cabezas, capas, dropout, lr
CONFIGS = {
    "pequena": (16, 32, 64, 4, 4, 0.0, 1e-3),
    "cpu": (12, 64, 128, 4, 4, 0.0, 1e-3),
    "mediana": (32, 128, 192, 6, 6, 0.2, 3e-4),
    "cuaderno": (64, 256, 384, 6, 6, 0.2, 3e-4),
}

parser = argparse.ArgumentParser()
parser.add_argument("--config", choices=CONFIGS, default="cpu")
parser.add_argument("--corpus", default="datos/el_quijote.txt")
parser.add_argument("--hilos", type=int, default=1)
parser.add_argument("--pasos", type=int, default=20)
parser.add_argument("--entrenar", type=int, default=0)
parser.add_argument("--generar", type=int, nargs="*", default=[])
parser.add_argument("--dispositivo", default="cpu")
args = parser.parse_args()
torch.set_num_threads(args.hilos)
torch.manual_seed(1337)
batch_size, block_size, n_embd, n_head, n_layer, dropout, lr = CONFIGS[args.config]
device = args.dispositivo

text = open(args.corpus, encoding="utf-8").read()
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]


def get_batch(split):
    d = train_data if split == "train" else val_data
    ix = torch.randint(len(d) - block_size, (batch_size,))
    x = torch.stack([d[i : i + block_size] for i in ix])
    y = torch.stack([d[i + 1 : i + block_size + 1] for i in ix])
    return x.to(device), y.to(device)


class Head(nn.Module):
    def __init__(self, head_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        T = x.shape[1]
        k, q, v = self.key(x), self.query(x), self.value(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei = self.dropout(F.softmax(wei, dim=-1))
        return wei @ v


class MultiHeadAttention(nn.Module):
    def __init__(self, num_heads, head_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.dropout(self.proj(torch.cat([h(x) for h in self.heads], dim=-1)))


class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd), nn.Dropout(dropout)
        )

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.sa = MultiHeadAttention(n_head, n_embd // n_head)
        self.ffwd = FeedForward()
        self.ln1 = nn.LayerNorm(n_embd)
        self.ln2 = nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


class GPTLanguageModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block() for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)
        self.apply(self._init_weights)

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if getattr(module, "bias", None) is not None:
                torch.nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        T = idx.shape[1]
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(T, device=device))
        logits = self.lm_head(self.ln_f(self.blocks(x)))
        if targets is None:
            return logits
        B, T, C = logits.shape
        return F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    @torch.no_grad()
    def generate(self, idx, max_new_tokens):
        # El bucle del cuaderno: el contexto entero (recortado al bloque) en cada carácter.
        for _ in range(max_new_tokens):
            logits = self(idx[:, -block_size:])[:, -1, :]
            idx_next = torch.multinomial(F.softmax(logits, dim=-1), num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


model = GPTLanguageModel().to(device)
optimizer = torch.optim.AdamW(model.parameters(), lr=lr)


def step():
    xb, yb = get_batch("train")
    loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def sync():
    if device == "cuda":
        torch.cuda.synchronize()


if args.entrenar:
    t = time.perf_counter()
    for _ in range(args.entrenar):
        step()
    sync()
    elapsed = time.perf_counter() - t
    model.eval()
    with torch.no_grad():
        est = {s: torch.tensor([model(*get_batch(s)).item() for _ in range(200)]).mean().item() for s in ("train", "val")}
    model.train()
    print(f"pytorch {args.config} {args.entrenar} pasos en {elapsed:.1f} s: entrenamiento {est['train']:.4f}, validación {est['val']:.4f}")

if args.generar:
    model.eval()
    start = torch.zeros((1, 1), dtype=torch.long, device=device)  # un salto de línea
    model.generate(start, 8)  # calentamiento
    for n_chars in args.generar:
        rates = []
        for _ in range(3):
            t = time.perf_counter()
            model.generate(start, n_chars)
            sync()
            rates.append(n_chars / (time.perf_counter() - t))
        rates.sort()
        print(f"generacion-pytorch {n_chars} {rates[1]:.0f}")
    raise SystemExit

step()  # calentamiento
sync()
times = []
for _ in range(args.pasos):
    t = time.perf_counter()
    step()
    sync()
    times.append((time.perf_counter() - t) * 1e3)
times.sort()
median = times[len(times) // 2]
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if device == "cuda":
    peak_mib = torch.cuda.max_memory_allocated() / 2**20
print(f"gpt {args.config} pytorch {args.hilos} {median:.3f} {batch_size * block_size / median * 1e3:.0f} {peak_mib:.0f}")
