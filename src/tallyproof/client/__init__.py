"""The offline field client: a presiding officer's or agent's device signs result forms into
a durable outbox while the network is down, sends them when it returns, and keeps each
receipt once it has checked it against the log's key. It carries no server code: it speaks
to the log over HTTP and checks what it hears with `tallyproof.ledger` alone."""
