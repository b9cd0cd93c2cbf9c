"""El bigram del cuaderno en PyTorch, para comparar velocidades con la versión en Rust.

Mide milisegundos por paso de entrenamiento (get_batch + forward + backward + AdamW) con
lote 32 y bloque 8, en un hilo. Con --entrenar, además entrena 10 000 pasos y da las
estimaciones de pérdida (200 lotes por parte), que son los valores de referencia del libro.
Imprime: `bigram pytorch <mediana ms/paso> <mín> <máx>`.
"""
import argparse
import time

import torch
import torch.nn as nn
from torch.nn import functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--corpus", default="datos/el_quijote.txt")
parser.add_argument("--hilos", type=int, default=1)
parser.add_argument("--entrenar", action="store_true")
args = parser.parse_args()
torch.set_num_threads(args.hilos)
torch.manual_seed(1337)

text = open(args.corpus, encoding="utf-8").read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data))
train_data, val_data = data[:n], data[n:]
batch_size, block_size = 32, 8


def get_batch(split):
    d = train_data if split == "train" else val_data
    ix = torch.randint(len(d) - block_size, (batch_size,))
    x = torch.stack([d[i : i + block_size] for i in ix])
    y = torch.stack([d[i + 1 : i + block_size + 1] for i in ix])
    return x, y


class BigramLanguageModel(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets):
        logits = self.token_embedding_table(idx)
        B, T, C = logits.shape
        return F.cross_entropy(logits.view(B * T, C), targets.view(B * T))


model = BigramLanguageModel(len(chars))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)


def step():
    xb, yb = get_batch("train")
    loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


@torch.no_grad()
def estimate_loss():
    out = {}
    for split in ["train", "val"]:
        out[split] = torch.tensor([model(*get_batch(split)).item() for _ in range(200)]).mean().item()
    return out


if args.entrenar:
    for _ in range(10_000):
        step()
    losses = estimate_loss()
    print(f"pytorch 10000 pasos: entrenamiento {losses['train']:.4f}, validación {losses['val']:.4f}")

steps, repeats = 2_000, 7
for _ in range(200):
    step()
times = []
for _ in range(repeats):
    t = time.perf_counter()
    for _ in range(steps):
        step()
    times.append((time.perf_counter() - t) * 1e3 / steps)
times.sort()
print(f"bigram pytorch {times[repeats // 2]:.5f} {times[0]:.5f} {times[-1]:.5f}")
