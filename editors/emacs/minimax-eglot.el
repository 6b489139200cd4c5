;;; minimax-eglot.el --- MiniMax (minimax-lsp) through Eglot  -*- lexical-binding: t; -*-

;; Optional helper for docs/editors.md.  Needs Eglot 1.9 or later (Emacs 28
;; with Debian's elpa-eglot, or the Eglot built into Emacs 29 and later);
;; our CI runs it with Eglot 1.9.

;;; Commentary:

;; (minimax-eglot-setup) makes `minimax-lsp serve' the Eglot server of the
;; major modes in `minimax-eglot-modes'.  Eglot runs one server per major
;; mode, so there it replaces the server Eglot would otherwise start; a
;; project with two of these languages runs two servers (they share the
;; on-disk index).
;;
;; Eglot itself gives code actions (M-x eglot-code-actions), the completion
;; fallback (completion-at-point) and edits.  This file adds what Eglot
;; cannot show: answers.  M-x minimax-eglot-explain, minimax-eglot-chat and
;; minimax-eglot-refactor act on the region (or the definition at point);
;; explanations and chat answers stream into the *MiniMax* buffer
;; (`minimax/streamDelta'), and so does "MiniMax: Explain" from the
;; code-action menu.  Requests run without Eglot's 10 s timeout, since a
;; model may think for longer.
;;
;; The API key stays out of Emacs: the server reads MINIMAX_API_KEY from its
;; environment (the one Emacs was started with), or runs the apiKeyCommand
;; of `minimax-eglot-settings'.

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)

(defgroup minimax-eglot nil
  "MiniMax's language server through Eglot."
  :group 'tools)

(defcustom minimax-eglot-program '("minimax-lsp" "serve")
  "Command that starts the language server on stdio."
  :type '(repeat string))

(defcustom minimax-eglot-modes '(python-mode js-mode typescript-mode go-mode rust-mode
                                 c-mode c++-mode java-mode ruby-mode sh-mode)
  "Major modes whose Eglot server is MiniMax (read by `minimax-eglot-setup').
An element may also be (MODE :language-id \"ID\") to set the LSP languageId."
  :type '(repeat sexp))

(defcustom minimax-eglot-settings nil
  "Server settings sent as initializationOptions (docs/settings.md), a plist.
For example (:model \"MiniMax-M3\" :apiKeyCommand [\"pass\" \"show\" \"minimax\"])."
  :type 'plist)

(defvar minimax-eglot--streams (make-hash-table :test #'equal)
  "Answer buffers waiting for `minimax/streamDelta', by request id.")
(defvar minimax-eglot--count 0 "Requests sent, for unique request ids.")
(defvar minimax-eglot--conversation nil "Conversation continued by `minimax-eglot-chat'.")

;;;###autoload
(defun minimax-eglot-setup ()
  "Make `minimax-eglot-program' the Eglot server of each of `minimax-eglot-modes'.
One entry per mode: Eglot 1.9 gives all buffers of a server one languageId."
  (dolist (mode (reverse minimax-eglot-modes))
    (add-to-list 'eglot-server-programs
                 `(,mode ,@minimax-eglot-program
                         :initializationOptions minimax-eglot--initialization-options))))

(defun minimax-eglot--initialization-options (_server)
  "The initializationOptions: `minimax-eglot-settings' (an empty object if nil)."
  (or minimax-eglot-settings (make-hash-table)))

(defun minimax-eglot--where ()
  "The document and the region (an empty range at point without one), as a plist."
  (let ((beg (if (use-region-p) (region-beginning) (point)))
        (end (if (use-region-p) (region-end) (point))))
    (list :uri (plist-get (eglot--TextDocumentIdentifier) :uri)
          :range (list :start (eglot--pos-to-lsp-position beg)
                       :end (eglot--pos-to-lsp-position end)))))

(defun minimax-eglot--answer-buffer (title)
  "Show the *MiniMax* buffer, emptied and headed by TITLE."
  (with-current-buffer (get-buffer-create "*MiniMax*")
    (let ((inhibit-read-only t))
      (erase-buffer)
      (insert "# " title "\n\n"))
    (display-buffer (current-buffer))
    (current-buffer)))

(defun minimax-eglot--insert-delta (buffer text)
  "Append TEXT, a piece of a streamed answer, to BUFFER."
  (with-current-buffer buffer
    (let ((inhibit-read-only t))
      (save-excursion (goto-char (point-max)) (insert text)))))

(cl-defmethod eglot-handle-notification
  (_server (_method (eql minimax/streamDelta)) &key requestId text kind &allow-other-keys)
  "Append TEXT to the buffer of stream REQUESTID, unless KIND is \"thinking\"."
  (let ((buffer (gethash requestId minimax-eglot--streams)))
    (when (and (buffer-live-p buffer) (stringp text) (not (equal kind "thinking")))
      (minimax-eglot--insert-delta buffer text))))

(defun minimax-eglot--done (buffer result)
  "Show RESULT of a command: the final answer in BUFFER, or what an edit did."
  (cond ((buffer-live-p buffer)
         (with-current-buffer buffer
           (let ((inhibit-read-only t))
             (goto-char (point-min))
             (forward-line 2)
             (delete-region (point) (point-max))
             (insert (or (plist-get result :markdown) "")))
           (setq minimax-eglot--conversation
                 (or (plist-get result :conversationId) minimax-eglot--conversation))))
        ((eq (plist-get result :applied) t) (message "MiniMax: edit applied"))
        (t (message "MiniMax: not applied: %s" (plist-get result :reason)))))

(defun minimax-eglot--run (command arguments &optional title)
  "Send COMMAND with the ARGUMENTS plist; stream its answer under TITLE if any."
  (let* ((server (or (eglot-current-server) (user-error "MiniMax: no Eglot server here")))
         (id (format "emacs-%d-%d" (emacs-pid) (cl-incf minimax-eglot--count)))
         (buffer (and title (minimax-eglot--answer-buffer title)))
         (finish (lambda (result) (remhash id minimax-eglot--streams)
                   (minimax-eglot--done buffer result))))
    (when buffer (puthash id buffer minimax-eglot--streams))
    (eglot--signal-textDocument/didChange) ; the server must see the current text
    (jsonrpc-async-request
     server :workspace/executeCommand
     `(:command ,command :arguments [(:requestId ,id ,@arguments)])
     :timeout nil
     :success-fn finish
     :error-fn (lambda (error)
                 (funcall finish `(:markdown ,(format "**Error:** %s" (plist-get error :message))
                                   :reason ,(plist-get error :message)))))))

(defun minimax-eglot--instruction ()
  "Ask the user what to change; nil when left empty (MiniMax chooses)."
  (let ((instruction (read-string "Refactor (empty: MiniMax chooses): ")))
    (and (> (length instruction) 0) instruction)))

(defun minimax-eglot--intercept (command arguments)
  "Run MiniMax's explain or refactor COMMAND with ARGUMENTS; nil for others.
Picked from the code-action menu, they run here: without a timeout, an
explanation shown in *MiniMax*, and \"MiniMax: Refactor...\" asking for an
instruction first."
  (let ((args (and (vectorp arguments) (> (length arguments) 0) (aref arguments 0))))
    (pcase (format "%s" command)
      ("minimax.explain" (minimax-eglot--run "minimax.explain" args "Explain") t)
      ("minimax.refactor"
       (let ((instruction (and (equal (plist-get args :kind) "refactor")
                               (minimax-eglot--instruction))))
         (minimax-eglot--run "minimax.refactor"
                             `(,@args ,@(and instruction `(:instruction ,instruction))))
         t)))))

(cl-defmethod eglot-execute-command :around (_server command arguments)
  "Let `minimax-eglot--intercept' run COMMAND with ARGUMENTS (Eglot < 1.17)."
  (unless (minimax-eglot--intercept command arguments)
    (cl-call-next-method)))

(when (fboundp 'eglot-execute)          ; Emacs 30's Eglot runs actions here
  (cl-defmethod eglot-execute :around (_server action)
    "Let `minimax-eglot--intercept' run the command ACTION (not tested in CI)."
    (let ((command (plist-get action :command)))
      (unless (and (stringp command)
                   (minimax-eglot--intercept command (plist-get action :arguments)))
        (cl-call-next-method)))))

(defun minimax-eglot-explain (&optional question)
  "Explain the region (or the definition at point).
With a prefix argument, ask QUESTION too."
  (interactive (list (and current-prefix-arg (read-string "Question: "))))
  (minimax-eglot--run "minimax.explain"
                      `(,@(minimax-eglot--where) ,@(and question `(:question ,question)))
                      "Explain"))

(defun minimax-eglot-refactor (instruction)
  "Rewrite the region (or the definition at point) following INSTRUCTION."
  (interactive (list (minimax-eglot--instruction)))
  (minimax-eglot--run "minimax.refactor"
                      `(,@(minimax-eglot--where) ,@(and instruction `(:instruction ,instruction)))))

(defun minimax-eglot-chat (prompt &optional new)
  "Ask PROMPT about the repository; with a prefix (NEW), start a new conversation."
  (interactive (list (read-string "Ask MiniMax: ") current-prefix-arg))
  (when new (setq minimax-eglot--conversation nil))
  (minimax-eglot--run "minimax.chat"
                      `(:prompt ,prompt ,@(minimax-eglot--where)
                        ,@(and minimax-eglot--conversation
                               `(:conversationId ,minimax-eglot--conversation)))
                      "Chat"))

(provide 'minimax-eglot)
;;; minimax-eglot.el ends here
