package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/axtract/axtract/graph/model"
)

// Code is the value of extensions.code in an error of the API.
type Code string

// Error codes. docs/graphql.md lists what each means for a client.
const (
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	CodeForbidden       Code = "FORBIDDEN"
	CodeNotFound        Code = "NOT_FOUND"
	CodeValidation      Code = "VALIDATION"
	CodeLimitExceeded   Code = "LIMIT_EXCEEDED"
	CodeConflict        Code = "CONFLICT"
	CodeInternal        Code = "INTERNAL"
)

// Error is an error a client may see: its message is written for the client
// and holds no internal detail and no member data.
type Error struct {
	Code    Code
	Message string
	// Hint is the next step for the client, when there is one.
	Hint string
	// Reason refines Code, such as MINIMUM_NECESSARY for a VALIDATION error.
	Reason string
	err    error
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns the underlying error, which is logged but never shown.
func (e *Error) Unwrap() error { return e.err }

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *Error {
	return newError(CodeNotFound, format, args...)
}

func invalid(format string, args ...any) *Error {
	return newError(CodeValidation, format, args...)
}

func forbidden(format string, args ...any) *Error {
	return newError(CodeForbidden, format, args...)
}

// uuidPattern matches member ids, which SQL messages may echo back.
var uuidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

func isUUID(s string) bool {
	return len(s) == 36 && uuidPattern.MatchString(s)
}

// redact removes member ids from a message written by a SQL function.
func redact(s string) string {
	return uuidPattern.ReplaceAllString(s, "(member id)")
}

// redactErr returns the text of err without member ids, for the log.
func redactErr(err error) string {
	if err == nil {
		return ""
	}
	return redact(err.Error())
}

// sqlError turns an error of a control-schema call into an Error. The SQL
// functions raise messages written for people, and their SQLSTATE class
// gives the kind of failure, so those messages are shown without member
// ids. Anything else becomes INTERNAL, with the cause kept for the log
// only. what names the operation, for the log.
func sqlError(err error, what string) error {
	if err == nil {
		return nil
	}
	var own *Error
	if errors.As(err, &own) {
		return own
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return &Error{Code: CodeNotFound, Message: what + ": not found", err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeLimitExceeded, Message: what + ": the request was cancelled or timed out", err: err}
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return &Error{Code: CodeInternal, Message: "internal error", err: fmt.Errorf("%s: %w", what, err)}
	}
	e := &Error{Message: redact(pgErr.Message), Hint: redact(pgErr.Hint), err: fmt.Errorf("%s: %w", what, err)}
	switch {
	case pgErr.Code == "P0002" || pgErr.Code == "23503":
		e.Code = CodeNotFound
	case pgErr.Code == "42501":
		e.Code = CodeForbidden
		if reason := validationReason(pgErr); reason != "" {
			e.Code, e.Reason = CodeValidation, reason
		}
	case pgErr.Code == "23505" || pgErr.Code == "55000" || pgErr.Code == "55006" || pgErr.Code == "40001" || pgErr.Code == "40P01":
		e.Code = CodeConflict
	case pgErr.Code == "57014":
		e.Code, e.Message, e.Hint = CodeLimitExceeded, what+": the statement timed out", ""
	case strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23") || pgErr.Code == "42701" || pgErr.Code == "54000",
		unknownDatasetColumn(pgErr):
		e.Code = CodeValidation
		e.Reason = validationReason(pgErr)
	default:
		return &Error{Code: CodeInternal, Message: "internal error", err: e.err}
	}
	return e
}

// validationReason classifies the view compiler's rejections, so a portal
// can show them beside the column at fault. The request functions quote the
// compiler's message after their own prefix, so the tests look inside it.
func validationReason(pgErr *pgconn.PgError) string {
	msg := pgErr.Message
	switch {
	case strings.Contains(msg, "minimum necessary:"):
		return "MINIMUM_NECESSARY"
	case strings.Contains(msg, "data use agreement"):
		return "DATA_USE_AGREEMENT"
	case strings.Contains(msg, "safe_harbor view:") || strings.Contains(msg, "limited_data_set view:"):
		return "PROFILE"
	case pgErr.Code == "42701":
		return "DUPLICATE_COLUMN"
	case strings.HasPrefix(pgErr.Code, "22"), unknownDatasetColumn(pgErr):
		return "INVALID_SPEC"
	}
	return ""
}

// unknownDatasetColumn reports whether the view compiler rejected a column
// that its dataset does not have (axtract.dataset_column_get). Any other
// undefined_column error is a fault of the SQL, not of the request.
func unknownDatasetColumn(pgErr *pgconn.PgError) bool {
	return pgErr.Code == "42703" && strings.Contains(pgErr.Message, " is not in dataset ")
}

// presentError is the error presenter: every error leaves with a code, and
// errors the client may not read are logged and replaced.
func presentError(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var own *Error
		if errors.As(err, &own) {
			gqlErr.Message = own.Message
			if own.Code == CodeInternal {
				logger.ErrorContext(ctx, "graphql resolver failed", "path", gqlErr.Path.String(), "err", redactErr(own.err))
			}
			setCode(gqlErr, own.Code)
			if own.Hint != "" {
				gqlErr.Extensions["hint"] = own.Hint
			}
			if own.Reason != "" {
				gqlErr.Extensions["reason"] = own.Reason
			}
			return gqlErr
		}
		var already *gqlerror.Error
		if errors.As(err, &already) && already.Extensions["code"] != nil {
			return gqlErr
		}
		// Argument coercion errors from gqlgen come as plain errors on a path.
		if isInputError(err) {
			setCode(gqlErr, CodeValidation)
			return gqlErr
		}
		logger.ErrorContext(ctx, "graphql resolver failed", "path", gqlErr.Path.String(), "err", redactErr(err))
		gqlErr.Message = "internal error"
		setCode(gqlErr, CodeInternal)
		return gqlErr
	}
}

// isInputError reports whether err came from reading a field's arguments,
// such as a malformed Date.
func isInputError(err error) bool {
	var in *model.InputError
	return errors.As(err, &in)
}

// recoverPanic turns a panic in a resolver into an INTERNAL error and logs it.
func recoverPanic(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		logger.ErrorContext(ctx, "graphql resolver panicked", "panic", fmt.Sprint(p))
		return &Error{Code: CodeInternal, Message: "internal error"}
	}
}

func setCode(e *gqlerror.Error, code Code) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = string(code)
}

// normalizeCodes gives operation-level errors (parse, validation, limits)
// the codes of the API: gqlgen's GRAPHQL_PARSE_FAILED and
// GRAPHQL_VALIDATION_FAILED become VALIDATION, except the parser's token
// limit, which is LIMIT_EXCEEDED.
func normalizeCodes(list gqlerror.List) {
	for _, e := range list {
		switch c, _ := e.Extensions["code"].(string); Code(c) {
		case CodeUnauthenticated, CodeForbidden, CodeNotFound, CodeValidation, CodeLimitExceeded, CodeConflict, CodeInternal:
		default:
			// gqlparser reports its token limit as a parse error.
			if strings.HasPrefix(e.Message, "exceeded token limit") {
				setCode(e, CodeLimitExceeded)
				continue
			}
			setCode(e, CodeValidation)
		}
	}
}
