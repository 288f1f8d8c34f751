package keystore

import (
	"context"
	"errors"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/treue/treue/pkg/grpcx"
	authv1 "github.com/treue/treue/proto/gen/treue/auth/v1"
)

// Server serves treue.auth.v1.KeyService over a Store.
type Server struct {
	authv1.UnimplementedKeyServiceServer
	store *Store
}

// NewServer returns the key API of store.
func NewServer(store *Store) *Server { return &Server{store: store} }

func actor(ctx context.Context) Actor {
	c, _ := grpcx.CallerFrom(ctx)
	return Actor{Name: c.Name, KeyID: c.KeyID}
}

func (s *Server) CreateKey(ctx context.Context, req *authv1.CreateKeyRequest) (*authv1.CreateKeyResponse, error) {
	isPos := slices.Contains(req.GetRoles(), "pos")
	switch {
	case isPos && len(req.GetStores()) == 0:
		return nil, grpcx.InvalidField("stores", "a pos key must name the stores it acts for (\"*\" for every store)")
	case !isPos && len(req.GetStores()) > 0:
		return nil, grpcx.InvalidField("stores", "only a pos key names stores")
	}
	if slices.ContainsFunc(req.GetStores(), func(st string) bool { return st == "*" }) && len(req.GetStores()) > 1 {
		return nil, grpcx.InvalidField("stores", "\"*\" (every store) stands alone")
	}
	if _, dup := s.store.ring.Bootstrap().ByName(req.GetName()); dup {
		return nil, status.Errorf(codes.AlreadyExists, "name: %q is a key of API_KEYS", req.GetName())
	}
	nk := NewKey{Name: req.GetName(), Roles: req.GetRoles(), Stores: req.GetStores()}
	if req.GetExpiresAt() != nil {
		t := req.GetExpiresAt().AsTime()
		nk.ExpiresAt = &t
	}
	k, secret, err := s.store.Create(ctx, actor(ctx), nk)
	if err != nil {
		return nil, toStatus(err)
	}
	return &authv1.CreateKeyResponse{Key: toProto(k), Secret: secret}, nil
}

func (s *Server) ListKeys(ctx context.Context, req *authv1.ListKeysRequest) (*authv1.ListKeysResponse, error) {
	keys, err := s.store.List(ctx, req.GetIncludeRevoked())
	if err != nil {
		return nil, err
	}
	resp := &authv1.ListKeysResponse{}
	for _, c := range s.store.ring.Bootstrap().Sorted() {
		resp.Keys = append(resp.Keys, &authv1.ApiKey{Name: c.Name, Roles: c.Roles, Stores: c.Stores, Bootstrap: true})
	}
	for _, k := range keys {
		resp.Keys = append(resp.Keys, toProto(k))
	}
	return resp, nil
}

func (s *Server) RotateKey(ctx context.Context, req *authv1.RotateKeyRequest) (*authv1.RotateKeyResponse, error) {
	var grace time.Duration
	if req.GetGrace() != nil {
		grace = req.GetGrace().AsDuration()
	}
	k, secret, err := s.store.Rotate(ctx, actor(ctx), req.GetKeyId(), grace)
	if err != nil {
		return nil, toStatus(err)
	}
	return &authv1.RotateKeyResponse{Key: toProto(k), Secret: secret}, nil
}

func (s *Server) RevokeKey(ctx context.Context, req *authv1.RevokeKeyRequest) (*authv1.RevokeKeyResponse, error) {
	k, err := s.store.Revoke(ctx, actor(ctx), req.GetKeyId(), req.GetReason())
	if err != nil {
		return nil, toStatus(err)
	}
	return &authv1.RevokeKeyResponse{Key: toProto(k)}, nil
}

func toStatus(err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return status.Error(codes.NotFound, "key_id: no such key")
	case errors.Is(err, ErrRevoked):
		return grpcx.FailedPrecondition("KEY_REVOKED", "key is revoked: create a new one")
	case errors.Is(err, ErrNameTaken):
		return status.Error(codes.AlreadyExists, "name: a live key has this name; rotate it, or revoke it first")
	}
	return err
}

func ts(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func toProto(k Key) *authv1.ApiKey {
	return &authv1.ApiKey{
		KeyId: k.ID, Name: k.Name, Roles: k.Roles, Stores: k.Stores,
		CreatedAt: timestamppb.New(k.CreatedAt), CreatedBy: k.CreatedBy,
		ExpiresAt: ts(k.ExpiresAt), RevokedAt: ts(k.RevokedAt), RotatedAt: ts(k.RotatedAt),
		PreviousSecretExpiresAt: ts(k.PreviousSecretExpiresAt),
	}
}
