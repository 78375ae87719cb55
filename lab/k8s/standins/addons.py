"""Add-on simulations run by the controller-manager leader (filled in below)."""


def sync(kcm):
    pass
