# makemore part 1's sampling loop: torch.multinomial on a row of the normalised counts, with a Generator.
import torch

P = torch.tensor(PROBS)
g = torch.Generator().manual_seed(2147483647)
names = []
for i in range(5):
    out = []
    ix = 0
    while True:
        p = P[ix]
        ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
        out.append(ix)
        if ix == 0 or len(out) > 30:
            break
    names.append(out)
