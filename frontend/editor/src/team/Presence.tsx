import { memo } from "react";

import { presenceTitle, usePresence } from "./presence";
import "./versions.css";

const SHOWN = 4;

/** The toolbar's avatars: initials of each teammate who has this workflow open. */
function Presence() {
  const users = usePresence((s) => s.users);
  if (!users.length) return null;
  const names = users.map(presenceTitle).join(", ");
  return (
    <div className="presence" data-testid="presence" role="status"
         aria-label={`Also here: ${names}`} title={`Also here: ${names}`}>
      {users.slice(0, SHOWN).map((user) => (
        <span key={user.userId} className="avatar" data-testid="presence-user"
              data-user={user.userId} aria-hidden="true">{user.initials}</span>
      ))}
      {users.length > SHOWN && <span className="muted" aria-hidden="true">
        +{users.length - SHOWN}</span>}
    </div>
  );
}

export default memo(Presence);
