"""The model bench/vit.ts times: torchvision's vit_b_16 (ViT-B/16, 224 x 224, 86 M parameters) with
seeded random weights (N(0, 0.02) matrices, as ViTs are initialised), exported to ONNX at opset 17.
Writes weights/cache/bench/vit_b_16.onnx (git-ignored, 330 MB). Run with Debian's python3-torch and
python3-torchvision: /usr/bin/python3 bench/make-vit-b16.py"""
import os

import torch
import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'weights', 'cache', 'bench', 'vit_b_16.onnx')
os.makedirs(os.path.dirname(OUT), exist_ok=True)
torch.manual_seed(0)
model = torchvision.models.vit_b_16(weights=None).eval()
with torch.no_grad():
    for p in model.parameters():
        if p.dim() > 1:
            torch.nn.init.normal_(p, 0, 0.02)
torch.onnx.export(model, torch.zeros(1, 3, 224, 224), OUT, opset_version=17, input_names=['input'], output_names=['logits'])
print(OUT)
