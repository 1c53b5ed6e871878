# A character-level MLP on names in the style of Karpathy's makemore (its MLP class: nn.Embedding for the
# lookup table, nn.Sequential with Tanh, F.cross_entropy, AdamW, minibatches drawn with a seeded
# torch.Generator). `words` is the list of names.
import torch
import torch.nn as nn
from torch.nn import functional as F

chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    return X, Y


Xtr, Ytr = build_dataset(words)


class MLP(nn.Module):
    def __init__(self, vocab_size, n_embd, n_hidden):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(block_size * n_embd, n_hidden),
            nn.Tanh(),
            nn.Linear(n_hidden, vocab_size),
        )

    def forward(self, idx, targets=None):
        emb = self.wte(idx)                      # (B, block_size, n_embd)
        x = emb.view(emb.size(0), -1)
        logits = self.mlp(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits, targets)
        return logits, loss


torch.manual_seed(42)
model = MLP(vocab_size, n_embd=10, n_hidden=64)
print(f"number of parameters: {sum(p.numel() for p in model.parameters())}")
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)

g = torch.Generator().manual_seed(2147483647)
for step in range(200):
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
    logits, loss = model(Xtr[ix], Ytr[ix])
    model.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(f"step {step} | loss {loss.item():.4f}")

model.eval()
with torch.no_grad():
    _, train_loss = model(Xtr, Ytr)
print(f"train loss {train_loss.item():.4f}")
