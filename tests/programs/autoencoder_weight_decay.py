# The "simple autoencoder" of a much-copied PyTorch beginner's repository (pytorch-beginner,
# 08-AutoEncoder/simple_autoencoder.py) on the 8x8 digits: IMAGES (N, 1, 8, 8) scaled to [-1, 1], a
# DataLoader, nn.Sequential with ReLU(True) and Tanh, nn.MSELoss, Adam with weight_decay, the weights
# saved with torch.save at the end and loaded back. PATH is where they go.
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

num_epochs = 5
batch_size = 32
learning_rate = 1e-3

dataset = TensorDataset(torch.tensor(IMAGES), torch.tensor(LABELS))
dataloader = DataLoader(dataset, batch_size=batch_size, shuffle=True)


class autoencoder(nn.Module):
    def __init__(self):
        super(autoencoder, self).__init__()
        self.encoder = nn.Sequential(
            nn.Linear(8 * 8, 32),
            nn.ReLU(True),
            nn.Linear(32, 16),
            nn.ReLU(True), nn.Linear(16, 3))
        self.decoder = nn.Sequential(
            nn.Linear(3, 16),
            nn.ReLU(True),
            nn.Linear(16, 32),
            nn.ReLU(True), nn.Linear(32, 8 * 8), nn.Tanh())

    def forward(self, x):
        x = self.encoder(x)
        x = self.decoder(x)
        return x


model = autoencoder()
criterion = nn.MSELoss()
optimizer = torch.optim.Adam(
    model.parameters(), lr=learning_rate, weight_decay=1e-5)
losses = []
for epoch in range(num_epochs):
    for data in dataloader:
        img, _ = data
        img = img.view(img.size(0), -1)
        # ===================forward=====================
        output = model(img)
        loss = criterion(output, img)
        # ===================backward====================
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # ===================log========================
    losses.append(loss.item())
    print('epoch [{}/{}], loss:{:.4f}'
          .format(epoch + 1, num_epochs, loss.item()))

torch.save(model.state_dict(), PATH)
reloaded = autoencoder()
reloaded.load_state_dict(torch.load(PATH))
