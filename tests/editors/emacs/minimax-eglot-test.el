;;; minimax-eglot-test.el --- Drives Eglot against minimax-lsp  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by tests/editors/test_emacs_eglot.py as
;;   emacs --batch -Q -l minimax-eglot-test.el
;; with these environment variables:
;;   MINIMAX_TEST_HELPER  the folder of minimax-eglot.el (put on `load-path')
;;   MINIMAX_TEST_INIT    the init snippet of docs/editors.md, loaded as a user's init
;;   MINIMAX_TEST_FILE    the Python file to edit (inside a git repository)
;;   MINIMAX_TEST_REPORT  where to write the JSON report the Python test checks
;; The server's own environment (key, endpoint, cache) is Emacs's environment.
;;
;; Every wait has a deadline, and a timer ends Emacs after 45 s whatever happens,
;; so the test never hangs.  Exit status: 0 done (the report says what was seen),
;; 1 a step failed (the report holds the error), 3 the global deadline passed,
;; 77 Eglot cannot be loaded.

;;; Code:

(require 'cl-lib)
(require 'json)

(defun mt-load-eglot ()
  "Load Eglot: built in (Emacs 29+) or Debian's elpa-eglot (Emacs 28)."
  (or (require 'eglot nil t)
      (progn
        ;; What Debian's site-start would do; -Q keeps the user's init out.
        (dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
          (add-to-list 'load-path dir))
        (require 'eglot nil t))))

(defvar mt-report nil "Alist written as the JSON report.")
(defvar mt-deltas 0 "Streamed pieces inserted by minimax-eglot.")

(defun mt-note (key value)
  "Record VALUE under KEY in the report."
  (setq mt-report (cons (cons key value) (assq-delete-all key mt-report))))

(defun mt-buffer-tail (name)
  "The last 4000 characters of buffer NAME (a regexp), for the report."
  (let ((buffer (cl-find-if (lambda (b) (string-match-p name (buffer-name b)))
                            (buffer-list))))
    (when buffer
      (with-current-buffer buffer
        (buffer-substring-no-properties (max (point-min) (- (point-max) 4000))
                                        (point-max))))))

(defun mt-finish (status)
  "Write the report with some logs and exit Emacs with STATUS."
  (mt-note 'messages (mt-buffer-tail "\\*Messages\\*"))
  (mt-note 'stderr (mt-buffer-tail "EGLOT.*stderr"))
  (mt-note 'events (mt-buffer-tail "EGLOT.*events"))
  (with-temp-file (getenv "MINIMAX_TEST_REPORT")
    (insert (json-encode mt-report)))
  (kill-emacs status))

(defun mt-wait (what predicate &optional seconds)
  "Process server output until PREDICATE is true; fail naming WHAT after SECONDS."
  (let ((deadline (+ (float-time) (or seconds 15))))
    (while (not (funcall predicate))
      (when (> (float-time) deadline)
        (error "Timed out after %ss waiting for %s" (or seconds 15) what))
      (accept-process-output nil 0.05))))

(defun mt-goto (regexp)
  "Move point to the end of the first match of REGEXP in the buffer."
  (goto-char (point-min))
  (re-search-forward regexp))

(defun mt-choose-action (title)
  "Run the code action TITLE at point as a user would, through Eglot's menu."
  (let ((offered nil)
        (last-nonmenu-event ?\r))       ; a key press: Eglot asks in the minibuffer
    (cl-letf (((symbol-function 'completing-read)
               (lambda (_prompt collection &rest _)
                 (setq offered (mapcar #'car collection))
                 title)))
      (eglot-code-actions (point) (point) nil t))
    offered))

(defun mt-run ()
  "The scenario; each step records what it saw."
  (unless (mt-load-eglot) (kill-emacs 77))
  (add-to-list 'load-path (getenv "MINIMAX_TEST_HELPER"))
  (load (getenv "MINIMAX_TEST_INIT") nil t)
  (mt-note 'emacs emacs-version)
  (mt-note 'eglot (locate-library "eglot"))
  (advice-add 'minimax-eglot--insert-delta :after (lambda (&rest _) (cl-incf mt-deltas)))
  (let ((prompts nil) (started (float-time)))
    ;; The user confirms the server's edit (Eglot asks by default).
    (cl-letf (((symbol-function 'y-or-n-p) (lambda (prompt) (push prompt prompts) t)))
      (find-file (getenv "MINIMAX_TEST_FILE"))
      (run-hooks 'post-command-hook)      ; where `eglot-ensure' connects
      (mt-wait "Eglot to connect" (lambda () (and (eglot-current-server)
                                                  (bound-and-true-p eglot--managed-mode))))
      (let ((server (eglot-current-server)))
        (mt-note 'connect_seconds (- (float-time) started))
        (mt-note 'server_name (plist-get (eglot--server-info server) :name))
        (mt-note 'server_command (process-command (jsonrpc--process server))))

      ;; Code actions at point inside `add': the menu, then "Add docstring".
      (mt-goto "def add")
      (let ((before (buffer-string)))
        (mt-note 'actions (mt-choose-action "MiniMax: Add docstring"))
        (mt-wait "the docstring edit" (lambda () (not (equal before (buffer-string))))))
      (mt-note 'after_docstring (buffer-substring-no-properties (point-min) (point-max)))
      (mt-note 'edit_prompts prompts)

      ;; "MiniMax: Refactor…" asks for an instruction first.
      (mt-goto "def add")
      (let ((before (buffer-string)) (asked nil))
        (cl-letf (((symbol-function 'read-string)
                   (lambda (prompt &rest _) (push prompt asked) "add type hints")))
          (mt-choose-action "MiniMax: Refactor…"))
        (mt-note 'refactor_asked asked)
        (mt-wait "the refactor edit" (lambda () (not (equal before (buffer-string))))))
      (mt-note 'after_refactor (buffer-substring-no-properties (point-min) (point-max)))

      ;; The completion fallback: Eglot has no inline completion.
      (mt-goto "return hel")
      (let ((capf (eglot-completion-at-point)))
        (mt-note 'candidates (all-completions "hel" (nth 2 capf))))
      (completion-at-point)
      (mt-note 'completed_line (buffer-substring-no-properties (line-beginning-position)
                                                               (line-end-position)))

      ;; "MiniMax: Explain" from the menu streams into *MiniMax*.
      (mt-goto "def helper")
      (mt-note 'explain_offered (mt-choose-action "MiniMax: Explain"))
      (mt-wait "the explanation" (lambda () (and (= 0 (hash-table-count minimax-eglot--streams))
                                                 (get-buffer "*MiniMax*"))))
      (mt-note 'answer (with-current-buffer "*MiniMax*" (buffer-string)))
      (mt-note 'deltas mt-deltas)
      (mt-note 'total_seconds (- (float-time) started)))))

(run-with-timer 45 nil (lambda () (mt-note 'error "global deadline (45 s) passed") (mt-finish 3)))
(condition-case err
    (progn (mt-run) (mt-finish 0))
  (error (mt-note 'error (error-message-string err)) (mt-finish 1)))

;;; minimax-eglot-test.el ends here
