package convert

import (
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/treue/treue/services/reporting/internal/domain"
)

// Export is what reporting holds about a member as the JSON of ExportMemberResponse.data.
func Export(d domain.MemberData) (*structpb.Struct, error) {
	data, err := structpb.NewStruct(map[string]any{"note": d.Note})
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return data, nil
}
