import { initialTeam, matches, type Team, teamForCreate } from "./teams";

const team = (id: number, canEdit = true): Team => ({
  id, name: `T${id}`, slug: `t${id}`, plan: "pro", credits: 10, role: canEdit ? "editor" : "viewer",
  canEdit,
});

describe("the workflows page", () => {
  it("remembers a team only while the user is in it", () => {
    expect(initialTeam([team(1), team(2)], "2")).toBe(2);
    expect(initialTeam([team(1), team(2)], "3")).toBe(0);
    expect(initialTeam([team(1), team(2)], null)).toBe(0);
  });
  it("puts a user of one team in it, so the role line shows", () => {
    expect(initialTeam([team(1)], "2")).toBe(1);
    expect(initialTeam([team(1)], null)).toBe(1);
    expect(initialTeam([], null)).toBe(0);
  });
  it("creates in the chosen team, never in one where the user only views", () => {
    expect(teamForCreate([team(1), team(2)], 2)?.id).toBe(2);
    expect(teamForCreate([team(1, false), team(2)], 0)?.id).toBe(2);
    expect(teamForCreate([team(1, false), team(2)], 1)).toBeUndefined();
  });
  it("searches names and descriptions by every word", () => {
    expect(matches("Flux 2 Pro → upscale", "", "flux UPSCALE")).toBe(true);
    expect(matches("Flux 2 Pro", "for the lookbook", "lookbook")).toBe(true);
    expect(matches("Flux 2 Pro", "", "video")).toBe(false);
    expect(matches("anything", "", "  ")).toBe(true);
  });
});
