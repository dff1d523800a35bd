"""Helper package of the course "From GAN to IGN"; every module is short and readable on purpose."""
__version__ = "0.1.0"
