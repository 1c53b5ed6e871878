# A beginner's dense autoencoder, as blog posts and course notebooks write it: nn.Sequential encoder and
# decoder, nn.MSELoss, optim.Adam, a loop over minibatches.
import torch
import torch.nn as nn
import torch.optim as optim


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8))
        self.decoder = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 64), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = Autoencoder()
criterion = nn.MSELoss()
optimizer = optim.Adam(model.parameters(), lr=1e-3)

data = torch.tensor(DATA)
losses = []
for epoch in range(5):
    for i in range(0, data.size(0), 16):
        img = data[i:i + 16]
        output = model(img)
        loss = criterion(output, img)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    losses.append(loss.item())
    print(f'epoch [{epoch + 1}/5], loss:{loss.item():.4f}')
