"""Session lifecycle and configuration: ``initialize`` ... ``exit``.

* ``initialize``: records the client's capabilities, the workspace folders and the
  ``initializationOptions``; returns at once (pygls builds the capabilities after this
  handler). Nothing is indexed yet.
* ``initialized``: pulls ``workspace/configuration`` (section ``minimax``), registers
  for file-change and configuration notifications when the client allows dynamic
  registration, then starts indexing in the background.
* ``workspace/didChangeConfiguration``: re-reads the settings (pulled, or taken from
  the notification for push-only clients) and applies them without a restart: a new
  endpoint or model rebuilds the model client, new ignore rules reopen the indexes.
* ``shutdown``: cancels background work, stops the watchers, closes the indexes and
  the HTTP client. ``exit``: exit code 0 after ``shutdown``, 1 without (LSP spec).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from minimax_lsp.server.app import MiniMaxLanguageServer


def setup(server: MiniMaxLanguageServer) -> None:
    """Register the lifecycle and configuration handlers."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: MiniMaxLanguageServer, params: types.InitializeParams) -> None:
        ls.session.initialize(params)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: MiniMaxLanguageServer, params: types.InitializedParams) -> None:
        await ls.session.initialized()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: MiniMaxLanguageServer, params: types.DidChangeConfigurationParams
    ) -> None:
        await ls.session.reload_settings(params.settings)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: MiniMaxLanguageServer, params: None) -> None:
        await ls.session.shutdown()

    @server.feature(types.EXIT)
    def exit_(ls: MiniMaxLanguageServer, params: None) -> None:
        ls.session.exit()
