pytest_plugins: list[str] = ["tests.fixtures.emulator"]
