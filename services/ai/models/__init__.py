"""The ai service's tenant models: what it learns from one tenant's tickets, and nothing else.

documents.py  TicketDoc, what a model learns from one ticket; a stored ticket row -> TicketDoc
features.py   one tenant's feature space (hashed n-grams -> compact columns) and label counts
triage.py     TenantModel: category and priority suggestions, similar-ticket search, forgetting
registry.py   ModelRegistry (tenant -> model) and TenantModels, which keeps a process's models
              in step with the ai database and within AI_MODEL_CACHE_MIB
"""
