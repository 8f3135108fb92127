"""Training losses: content (perceptual VGG19 + VGGFace, or weight-free L1 + MS-SSIM) and adversarial."""
