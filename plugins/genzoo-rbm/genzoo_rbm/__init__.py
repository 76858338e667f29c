"""genzoo plugin: a Bernoulli-Bernoulli restricted Boltzmann machine (``rbm``)."""
