"""What the sandbox, the tests and the benchmark all start the same way.

`operator_process` (`ic-operator run` as a child, ready at /healthz), `emulator_process`
(`ic-sandbox emulator` as a child, and the client settings that reach it),
`emulator_admin` (the emulator's admin API) and `crds` (crds/ installed until the API
server serves the resource). Each caller says only what differs for it: flags, the base
environment, log files, and the exception a failure raises.
"""
