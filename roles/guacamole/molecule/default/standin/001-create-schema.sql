-- Stand-in for guacamole-auth-jdbc-<version>/postgresql/schema/001-create-schema.sql: a few of the real tables.
CREATE TYPE guacamole_entity_type AS ENUM('USER', 'USER_GROUP');

CREATE TABLE guacamole_entity (
  entity_id serial NOT NULL,
  name varchar(128) NOT NULL,
  type guacamole_entity_type NOT NULL,
  PRIMARY KEY (entity_id),
  CONSTRAINT guacamole_entity_name_scope UNIQUE (type, name)
);

CREATE TABLE guacamole_user (
  user_id serial NOT NULL,
  entity_id integer NOT NULL,
  password_hash bytea NOT NULL,
  password_salt bytea,
  password_date timestamptz NOT NULL,
  disabled boolean NOT NULL DEFAULT FALSE,
  expired boolean NOT NULL DEFAULT FALSE,
  full_name varchar(256),
  email_address varchar(256),
  PRIMARY KEY (user_id),
  CONSTRAINT guacamole_user_single_entity UNIQUE (entity_id),
  CONSTRAINT guacamole_user_entity FOREIGN KEY (entity_id) REFERENCES guacamole_entity (entity_id) ON DELETE CASCADE
);

CREATE TABLE guacamole_connection_group (
  connection_group_id serial NOT NULL,
  parent_id integer,
  connection_group_name varchar(128) NOT NULL,
  PRIMARY KEY (connection_group_id)
);

CREATE TABLE guacamole_connection (
  connection_id serial NOT NULL,
  connection_name varchar(128) NOT NULL,
  parent_id integer,
  protocol varchar(32) NOT NULL,
  PRIMARY KEY (connection_id)
);
