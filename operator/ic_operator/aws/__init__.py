"""The one door to each AWS service: the client, the call budget, error classification
and the operations allowed."""
