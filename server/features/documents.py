"""Documents and folders: keep the indexes in step with the editor.

pygls keeps each open document's text (incremental sync); these handlers only feed the
index of the document's workspace, never block the loop, and never parse on it:

* ``didOpen``: judge the file once (in a worker thread): a denied file (ignored or
  secret, see `minimax_lsp.server.workspaces.PRIVACY_REASONS`) gets an ``inactive``
  status and nothing more -- it is never indexed or sent; an allowed one inside a
  workspace becomes an index overlay.
* ``didChange``: the new text becomes the overlay, debounced (~150 ms, latest wins)
  and parsed in a worker thread.
* ``didSave``: the saved file is re-read from disk (after any pending overlay).
* ``didClose``: the overlay is dropped (after a pending save), the file on disk shows.
* ``workspace/didChangeWatchedFiles`` (when the client watches for us): the changed
  paths go to ``index.update`` in a worker thread, batched per workspace.
* ``workspace/didChangeWorkspaceFolders``: removed roots are closed (their indexing
  cancelled), added ones are indexed in the background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from minimax_lsp.server.workspaces import Folder, uri_to_path

if TYPE_CHECKING:
    from pathlib import Path

    from minimax_lsp.server.app import MiniMaxLanguageServer


def setup(server: MiniMaxLanguageServer) -> None:
    """Register the document and folder synchronisation handlers."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: MiniMaxLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.session.touch(uri)
        await ls.session.check_document(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MiniMaxLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        session = ls.session
        uri = params.text_document.uri
        session.touch(uri, edited=True)
        # Unknown (still being checked): the open handler sends the latest text itself.
        if session.is_allowed(uri) is not True:
            return
        location = session.workspaces.locate(uri)
        if location is not None:
            document = ls.workspace.get_text_document(uri)
            session.workspaces.set_overlay(location, document.source)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: MiniMaxLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        session = ls.session
        uri = params.text_document.uri
        location = session.workspaces.locate(uri)
        if location is not None and session.is_allowed(uri):
            session.workspaces.save(location)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MiniMaxLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        session = ls.session
        uri = params.text_document.uri
        location = session.workspaces.locate(uri)
        if location is not None and session.is_allowed(uri) is not False:
            session.workspaces.clear_overlay(location)
        session.closed(uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: MiniMaxLanguageServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        paths: list[Path] = []
        for change in params.changes:
            path = uri_to_path(change.uri)
            if path is not None:
                paths.append(path)
        ls.session.workspaces.changed_paths(paths)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_workspace_folders(
        ls: MiniMaxLanguageServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        added: list[Folder] = []
        for item in params.event.added:
            folder = Folder.from_uri(item.uri, item.name)
            if folder is not None:
                added.append(folder)
        removed = [item.uri for item in params.event.removed]
        await ls.session.folders_changed(added, removed)
