package auth

// Scope names from CODING's personal-access-token page, plus user:token for
// managing tokens over the API (docs/api.md, "Scopes").
const (
	ScopeDepot          = "project:depot"
	ScopeUser           = "user"
	ScopeUserEmail      = "user:email"
	ScopeNotification   = "notification"
	ScopeSocialMessage  = "social:message"
	ScopeProject        = "project"
	ScopeProjectMembers = "project:members"
	ScopeProjectTask    = "project:task"
	ScopeProjectFile    = "project:file"
	ScopeProjectKey     = "project:key"
	ScopeUserToken      = "user:token"
)

// ScopeInfo describes one scope for GET /api/v1/auth/scopes.
type ScopeInfo struct {
	Scope         string `json:"scope"`
	Description   string `json:"description"`
	DescriptionZh string `json:"descriptionZh"`
	Access        string `json:"access"`
}

// scopeCatalogue is the ordered list of every scope a token may carry.
var scopeCatalogue = []ScopeInfo{
	{ScopeDepot, "Git clone, fetch and push; branches, commits and tags", "代码仓库", "read-write"},
	{ScopeUser, "Read the user's own profile (current_user)", "用户信息", "read"},
	{ScopeUserEmail, "Read the user's email address", "用户邮箱", "read"},
	{ScopeNotification, "Read and manage notifications", "通知", "read-write"},
	{ScopeSocialMessage, "Read and send private messages", "私信", "read-write"},
	{ScopeProject, "Read projects, their repositories and members", "项目信息", "read"},
	{ScopeProjectMembers, "Add, change and remove project members", "项目成员", "read-write"},
	{ScopeProjectTask, "Create, change and delete tasks", "任务", "read-write"},
	{ScopeProjectFile, "Create, change and delete files", "文件", "read-write"},
	{ScopeProjectKey, "Manage deploy keys and personal keys", "公钥", "read-write"},
	{ScopeUserToken, "Manage the user's own access tokens over the API", "访问令牌", "read-write"},
}

var scopeIndex = func() map[string]bool {
	m := make(map[string]bool, len(scopeCatalogue))
	for _, s := range scopeCatalogue {
		m[s.Scope] = true
	}
	return m
}()

// Scopes returns the catalogue of every known scope, in display order.
// The caller may not modify the returned slice.
func Scopes() []ScopeInfo { return scopeCatalogue }

// ScopeNames returns the name of every known scope, in display order.
func ScopeNames() []string {
	names := make([]string, len(scopeCatalogue))
	for i, s := range scopeCatalogue {
		names[i] = s.Scope
	}
	return names
}

// ValidScope reports whether name is a known scope.
func ValidScope(name string) bool { return scopeIndex[name] }
