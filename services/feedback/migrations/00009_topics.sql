-- +goose Up

-- The taxonomy comments are tagged by: a topic's key is what routing conditions see in
-- `topics`; its keywords (per language) are matched by their stems.
CREATE TABLE topics (
    key         text        PRIMARY KEY CHECK (key <> ''),
    label_en    text        NOT NULL DEFAULT '',
    label_de    text        NOT NULL DEFAULT '',
    keywords_en text[]      NOT NULL DEFAULT '{}',
    keywords_de text[]      NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO topics (key, label_en, label_de, keywords_en, keywords_de) VALUES
    ('unfriendly', 'Unfriendly', 'Unfreundlich',
        '{unfriendly,rude,impolite}', '{unfreundlich,unhöflich}'),
    ('queue', 'Waiting', 'Wartezeit',
        '{queue,wait,line}', '{warteschlange,warten,schlange,wartezeit}'),
    ('price', 'Price', 'Preis',
        '{price,expensive,overpriced}', '{preis,teuer,überteuert}'),
    ('delivery', 'Delivery', 'Lieferung',
        '{delivery,shipping,parcel,"arrived late"}', '{lieferung,versand,paket,zustellung}'),
    ('staff', 'Staff', 'Personal',
        '{staff,employee,cashier,"sales assistant"}', '{personal,mitarbeiter,mitarbeiterin,verkäufer,verkäuferin,kassierer,kassiererin}'),
    ('cleanliness', 'Cleanliness', 'Sauberkeit',
        '{dirty,filthy,mess,clean}', '{schmutzig,dreckig,sauber,sauberkeit}'),
    ('product quality', 'Product quality', 'Produktqualität',
        '{"poor quality",broken,defective,faulty}', '{"schlechte qualität",kaputt,defekt,mangelhaft}');

-- The topics of a case's comment when it was opened.
ALTER TABLE cases ADD COLUMN topics text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE cases DROP COLUMN topics;
DROP TABLE topics;
